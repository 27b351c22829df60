"""The training -> serving contract: the self-describing weights file, the model card, PNG images."""
