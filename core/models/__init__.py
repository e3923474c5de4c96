"""Model loading: hub ids, local folders, GGUF files and the embedded default."""
