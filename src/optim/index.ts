// optim: optimizers over parameter lists and learning-rate schedules.
export { Optimizer, type OptimizerState } from './optimizer.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RmspropOptions } from './rmsprop.js';
export { SGD, type SgdOptions } from './sgd.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
export { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR } from './schedule.js';
