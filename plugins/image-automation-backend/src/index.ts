/**
 * The image-automation backend plugin.
 *
 * @packageDocumentation
 */

export { imageAutomationPlugin as default } from './plugin';
