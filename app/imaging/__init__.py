"""Image input: decoding what users send (Pillow) and MNIST-style preprocessing to 28x28."""
