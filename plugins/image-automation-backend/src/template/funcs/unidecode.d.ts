declare module 'unidecode' {
  /** ASCII transliteration of Unicode text (Text::Unidecode tables). */
  function unidecode(text: string): string;
  export = unidecode;
}
