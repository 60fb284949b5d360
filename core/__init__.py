"""The bottom library: domain-free mechanisms. It imports no app."""
