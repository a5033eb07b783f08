"""Training on several machines: TensorFlow's MultiWorkerMirroredStrategy, as Keras 3 needs it.

Keras 3 (3.15, TensorFlow backend) calls `strategy.reduce` in two ways that TensorFlow's
multi-worker strategy rejects (keras-team/keras#20585: `model.fit` fails on its first batch):

- before the first step it "averages" the first input batch across workers, a whole
  structure at once (features and labels), only to learn its shapes and dtypes; the
  multi-worker strategy reduces single tensors only, and could not average pixels or text;
- after every step it averages each metric with `axis=0`, though a metric is a scalar.

This subclass answers both as intended: a structure gives this worker's own batch (shapes
and dtypes are the same on every worker), a scalar is averaged across all replicas. Every
other reduction, and the gradients' all-reduce, is TensorFlow's own. With it, every worker
logs the same metrics, so early stopping and the learning-rate schedule decide alike.
"""

from __future__ import annotations

import tensorflow as tf


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`tf.distribute.MultiWorkerMirroredStrategy` with Keras 3's reductions fixed."""

    def reduce(self, reduce_op, value, axis):
        if not isinstance(value, tf.distribute.DistributedValues) and tf.nest.is_nested(value):
            return tf.nest.map_structure(lambda v: self.experimental_local_results(v)[0], value)
        if axis is not None and self.experimental_local_results(value)[0].shape.rank == 0:
            axis = None
        return super().reduce(reduce_op, value, axis)
