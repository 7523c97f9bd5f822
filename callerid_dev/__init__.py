"""Development tools: the seven.io gateway simulator and a real Home Assistant harness."""
