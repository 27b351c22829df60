"""Training: config, command-line options (argv -> TrainConfig), the loop, augmentation, evaluation, the lab's study, BLAS threads, progress."""
