"""The CCR rule and hardware models in NumPy (Li et al., CCR, Sec. II–IV): the rule and
triplets (:mod:`.rule`), the paper's worked examples (:mod:`.examples`), MAC and data-volume
reduction (:mod:`.reduction`), a layer's window and stride passes (:mod:`.layer`), the buffer
formats (:mod:`.format`) and the cycle models (:mod:`.cycles`)."""
