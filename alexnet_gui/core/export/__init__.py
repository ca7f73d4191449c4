"""Exporting a model for programs that do not import this app: ONNX and OpenVINO IR."""
