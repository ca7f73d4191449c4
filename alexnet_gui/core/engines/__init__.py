"""Inference engines: the same AlexNet run by PyTorch (the reference) or by OpenVINO.

:mod:`.names` holds the names and rules, :mod:`.select` picks and builds an engine,
:mod:`.pytorch` and :mod:`.openvino` run one, :mod:`.cache` and :mod:`.calibration` serve the build.
"""
