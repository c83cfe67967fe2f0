// Models: the architectures built from the engine and nn layers.
export * from './damsm/index.js';
