//! Neural-network layers on `autograd` (see the `nn` issue).
