"""The one fit path with progress callbacks, the train-and-register pipeline, jobs and workers."""
