/**
 * Types, validation, permissions and constants shared by the image-automation plugins.
 *
 * @packageDocumentation
 */

export * from './constants';
export * from './conditions';
export * from './permissions';
export * from './api';
export * from './objects/types';
export * from './objects/status';
export * from './objects/objectHealth';
export * from './objects/validate';
export * from './promotions';
export * from './timeline';
export * from './inventory';
export * from './objectId';
