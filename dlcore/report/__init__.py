"""The model card (pure: given its inputs, no I/O) and shared wording."""
