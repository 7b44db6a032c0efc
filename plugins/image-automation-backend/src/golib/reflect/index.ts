/**
 * Go's dynamic values as JavaScript sees them (what `reflect` tells apart: `int` vs `int64`
 * vs `float64`, structs with methods, maps, kinds and type names) and `fmt`'s printing of
 * them (`%v`, `Sprint`, `Sprintln`). The value model that `encoding/json`, YAML, `time` and
 * the template engine share.
 *
 * @packageDocumentation
 */

export * from './value';
