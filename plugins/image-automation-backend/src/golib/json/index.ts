/**
 * Go's `encoding/json`: `json.Marshal` (with Go's float and HTML-escaping rules), decoding
 * into `interface{}` with Kubernetes' or Go's number rules, and Go's syntax error texts.
 *
 * @packageDocumentation
 */

export {
  formatJsonFloat,
  jsonSyntaxError,
  JsonMarshalError,
  marshalJson,
  parseJson,
} from './json';
