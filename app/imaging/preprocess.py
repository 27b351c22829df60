"""The MNIST-style preprocessing lives in model/imaging/preprocess.py (model/ may not import app/,
and training must see drawings exactly as /predict does); re-exported here for the app's imports."""
from model.imaging.preprocess import *  # noqa: F401,F403
from model.imaging.preprocess import EmptyImage, ModelInput, WORK_SIZE, preprocess  # noqa: F401  (explicit for readers)
