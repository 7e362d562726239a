"""The Faust agents: thin shells that move records between topics and the pure stages."""
