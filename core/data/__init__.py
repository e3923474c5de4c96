"""Data pipeline: sources → cleaning → split → decontamination → augmentation → splits on disk."""
