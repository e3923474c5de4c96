"""`tuner export`: a run's weights as something to ship (merged transformers model, GGUF, adapter).

pipeline.export_run orchestrates; target.list_exports lists a run's finished exports for clients.
"""
