"""Training engines. ``keras_fit`` trains each run with ``keras.Model.fit`` (the reference);
``replica`` trains all runs of a job at once as one batched TensorFlow program."""
