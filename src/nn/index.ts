// nn: modules with named parameters, the layers the CreativeAI models are built from, initialisers.
export { Module, type StateDict, type LoadResult } from './module.js';
export { Linear } from './linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type ConvOptions } from './conv.js';
export { BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm, type BatchNormOptions } from './norm.js';
export { batchNorms, recomputeStandingStatistics } from './standing-statistics.js';
export { Embedding } from './embedding.js';
export { LSTM, GRU, type RnnOptions, type RnnState } from './rnn.js';
export { Dropout } from './dropout.js';
export { ReLU, LeakyReLU, ELU, GELU, Softplus, Tanh, Sigmoid, Identity, type Layer } from './activation.js';
export { Flatten, Reshape, Upsample } from './shape.js';
export { Sequential } from './sequential.js';
export { spectralNorm, type SpectralNormOptions } from './spectral-norm.js';
export * as init from './init.js';
