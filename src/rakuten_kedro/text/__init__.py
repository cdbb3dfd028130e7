"""Text side of the method: tokenizer training, pair encoding and batching, pretrained-weight
resolution, training/prediction of the transformer classifier, and the TF-IDF baseline.

Plain modules, usable from a notebook; the ``text_model`` pipeline's nodes call into them.
"""
