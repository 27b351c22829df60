"""Training: configuration, the loop, augmentation, evaluation, the lab's study, BLAS threads, progress."""
