import './statusColours.css';

/**
 * The class of every root the plugin renders: its pages, and its dialogs, which portal out of the
 * page. Inside it, status colours are the AA-contrast shades (see `statusColours.css`).
 * @internal
 */
export const PAGE_CLASS = 'image-automation-page';
