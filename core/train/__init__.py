"""Training: batches, the Trainer, callbacks and the run orchestration."""
