/**
 * The plugin's icon, a box standing for a container image, for the navigation and the page header.
 * Drawn inline so the plugin needs no icon package; it takes the text colour and size. Legacy
 * apps can use it for their sidebar item.
 * @public
 */
export function ImageAutomationIcon() {
  return (
    <svg
      viewBox="0 0 24 24"
      width="1em"
      height="1em"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M3 8l9-5 9 5-9 5-9-5z" />
      <path d="M3 8v8l9 5 9-5V8" />
      <path d="M12 13v8" />
    </svg>
  );
}
