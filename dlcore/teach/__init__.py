"""The Learn page's concepts and the survey's reference example."""
