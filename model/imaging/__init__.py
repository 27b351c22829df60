"""Turning pictures into the network's input (Pillow + NumPy, no Flask): shared by the server and training."""
