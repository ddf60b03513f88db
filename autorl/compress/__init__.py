"""Compression of a trained policy: export as ONNX (fp32, fp16 weights, int8), distillation
into a smaller network, and the table that says what each variant keeps.

``graph`` (what a policy computes, as data) and ``onnx_policy`` (ONNX and onnxruntime) import
no torch, so an exported policy runs where only onnxruntime is installed; ``distill`` and
``pipeline`` train and read SB3 models.
"""
