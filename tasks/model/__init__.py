"""The Keras model: built from params, fed from prepared splits; train and evaluate share it."""
