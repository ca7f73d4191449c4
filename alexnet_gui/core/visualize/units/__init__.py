"""One unit of the network, the deep-visualization-toolbox way (Yosinski et al. 2015).

A unit is a channel of a conv, ReLU, LRN or pooling layer (its strongest position in a picture)
or one neuron of fc6-fc8. :mod:`.fields` says which pixels of the input a unit sees,
:mod:`.top9` finds the folder's image patches that excite it most, :mod:`.maximise` synthesises
an input that excites it, and :mod:`.live` draws its deconvnet or guided-backprop image for the
picture on screen at a capped rate. No Qt here.
"""
