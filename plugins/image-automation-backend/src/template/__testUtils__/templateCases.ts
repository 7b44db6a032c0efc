/**
 * Template cases for the engine's differential test: each is rendered by our engine and by
 * Go (test/oracles/gotemplate) and must give the same output or the same error text.
 * They cover the language (actions, control structures, variables, trim markers, comments,
 * parse and execution errors), `%v` printing and the functions of both sets.
 */

/** The inputs every ResourceSet case sees (raw JSON: integers stay int64). @internal */
export const RESOURCESET_INPUTS = JSON.stringify({
  tenant: 'team1',
  replicas: 2,
  ratio: 2.5,
  big: 1e21,
  enabled: true,
  version: '1.0',
  str2: '2',
  tags: ['a', 'b'],
  nested: { k2: 'v2', k1: 'v1', deep: { x: 1 } },
  nul: null,
  list: [1, 2000000, 3.5, 'x', true, null],
  a: 1000000,
  j: 1234567.5,
  e: 0.00001,
  names: ['b', 'a', 'c', 'a'],
  csv: 'x,y,z',
  text: 'Hello World',
  multi: 'line1\nline2\n',
  empty: '',
  zero: 0,
  emptyList: [],
  emptyMap: {},
  url: 'https://user:pw@example.com:8443/path/to?q=1&r=2#frag',
  semver: '>=1.0.0-rc.0',
  unicode: 'Ünïcödé straße',
}).replace('"big":1e+21', '"big":1e21');

/** ResourceSet-function cases (`<< >>`, template name `resourceset`). @internal */
export const RESOURCESET_CASES: string[] = [
  // printing
  '<< inputs.tenant >>', '<< inputs.replicas >>', '<< inputs.ratio >>', '<< inputs.big >>', '<< inputs.enabled >>',
  '<< inputs.tags >>', '<< inputs.nested >>', '<< inputs.nul >>', '<< inputs.list >>', '<< inputs.a >>', '<< inputs.j >>',
  '<< inputs.e >>', '<< inputs >>', '<< . >>', '<< inputs.emptyList >>', '<< inputs.emptyMap >>', '<< 1.0 >>', '<< 1e3 >>',
  '<< 0x1F >>', "<< 'a' >>", '<< -5 >>', '<< 1.5e-7 >>', '<< 123456789.0 >>', '<< "a\\tb" >>', '<< `raw\\n` >>', '<< nil | print >>',
  '<< print nil >>', '<< true >>', '<< print 1 2 "a" "b" 3 >>', '<< println 1 "a" >>',
  // errors
  '<< inputs.missing >>', '<< inputs.nested.k3 >>', '<< inputs.nested.deep.y >>', '<< inputs.tenant.x >>', '<< inputs.nul.x >>',
  '<< .foo >>', '<< now >>', '<< inputs.tenant | upper 1 >>', '<< upper >>', '<< upper inputs.replicas >>', '<< inputs.replicas | upper >>',
  '<< trunc inputs.replicas "abcdef" >>', '<< trunc 2 "abcdef" >>', '<< index inputs.tags 5 >>', '<< index inputs.nested 1 >>',
  '<< index inputs.tags "a" >>', '<< index inputs.nested "k1" >>', '<< index inputs.nested "none" >>', '<< index nil 1 >>',
  '<< eq inputs.replicas "2" >>', '<< eq inputs.replicas 2 >>', '<< eq inputs.ratio 2.5 >>', '<< eq inputs.tags inputs.tags >>',
  '<< lt inputs.replicas 3 >>', '<< lt 1.5 2 >>', '<< lt "a" 1 >>', '<< lt true false >>', '<< eq 1 >>', '<< eq 1 2 1 >>',
  '<< ne nil nil >>', '<< eq nil 1 >>', '<< len inputs.tags >>', '<< len inputs.tenant >>', '<< len inputs.replicas >>', '<< len inputs.nul >>',
  '<< if >>x<< end >>', '<< if true >>x', '<< end >>', '<< else >>', '<< range inputs.tags >><< break 1 >><< end >>', '<< break >>',
  '<< $x >>', '<< $x := 1 >><< $y = 2 >>', '<< ( >>', '<< ) >>', '<< "unterminated >>', '<< inputs.tenant | 1 >>', '<< inputs. >>',
  '<< @ >>', '<< 1.2.3 >>', '<< inputs | inputs >>', '<< fail "boom" >>', '<< inputs.tenant "arg" >>', '<< nil >>', '<< nil.x >>',
  '<< "a".b >>', '<< inputs.tenant\n| missingfn >>', 'line1\n<< inputs.missing >>', 'a\nbb\n  << inputs.nested.nope >>',
  '<< template "x" >>', '<< define "x" >>X<< end >><< template "x" >>', '<< range 1 2 >><< end >>', '<< with $x := 1 >><< end >><< $x >>',
  '<< range $a, $b, $c := inputs.tags >><< end >>', '<< $x, $y := 1 >>', '<< /* unclosed comment >>', '<< /* ok */ >>',
  '<<- /* trimmed */ ->>', '<< 1 | len >>', '<< inputs.tags | index 0 >>',
  // control structures and variables
  '<< if inputs.enabled >>yes<< else >>no<< end >>', '<< if inputs.empty >>yes<< else if inputs.zero >>zero<< else >>none<< end >>',
  '<< with inputs.nested >><< .k1 >><< else >>none<< end >>', '<< with inputs.empty >>x<< else with inputs.tenant >><< . >><< end >>',
  '<< range $i, $t := inputs.tags >><< $i >>:<< $t >>,<< end >>', '<< range inputs.emptyList >>x<< else >>empty<< end >>',
  '<< range $k, $v := inputs.nested >><< $k >>=<< $v >>;<< end >>', '<< range 3 >><< . >><< end >>', '<< range $i := 3 >><< $i >><< end >>',
  '<< range inputs.list >><< if eq (kindOf .) "string" >><< break >><< end >><< . >>,<< end >>',
  '<< range inputs.list >><< if not . >><< continue >><< end >><< . >>|<< end >>', '<< $x := 1 >><< if true >><< $x = 2 >><< end >><< $x >>',
  '<< $ >>', '<< $.x >>', '<< (inputs.nested).k1 >>', '<< (index inputs.tags 1) >>', '<< inputs.nested.deep.x | add 1 >>',
  'a  <<- "b" ->>  c', 'a << "b" >> c', '<<- 3 >>', '<< 3 ->>\n\n x', '<< and 1 0 2 >>', '<< or 0 "" 3 >>', '<< and >>', '<< not 0 >>',
  '<< and (eq 1 1) (fail "not evaluated") >>', '<< or 1 (fail "not evaluated") >>', '<< 1 | and 2 >>', '<< 0 | or 0 >>',
  // %v and conversions
  '<< inputs.big | int >>', '<< inputs.ratio | int >>', '<< inputs.str2 | int >>', '<< "0x10" | int >>', '<< "2.0" | int >>', '<< inputs.replicas | float64 >>',
  '<< "1e3" | float64 >>', '<< int64 "12" >>', '<< atoi "12x" >>', '<< toDecimal "0777" >>', '<< typeOf 1 >>', '<< typeOf inputs.replicas >>',
  '<< typeOf inputs.ratio >>', '<< typeOf inputs.tags >>', '<< typeOf inputs.nested >>', '<< typeOf nil >>', '<< kindOf 1 >>', '<< kindOf inputs.replicas >>',
  '<< kindIs "map" inputs.nested >>', '<< typeIs "string" "x" >>', '<< typeIsLike "int64" inputs.replicas >>', '<< typeOf (len inputs.tags) >>',
  '<< typeOf (add 1 2) >>', '<< typeOf (int "3") >>', '<< typeOf (atoi "3") >>', '<< typeOf (until 2) >>', '<< typeOf (list) >>', '<< typeOf (dict) >>',
  '<< printf "%d %s %v %q %x %X %o %b %c %t %5.2f %e %g %T %%" 42 "s" inputs.tags "q" 255 255 8 5 65 true 3.14159 1234.5 0.000012 inputs.replicas >>',
  '<< printf "%s" 1 >>', '<< printf "%d" "x" >>', '<< printf "%d %d" 1 >>', '<< printf "%d" 1 2 >>', '<< printf "%-5s|%5s|%05d" "a" "b" 42 >>',
  '<< printf "%v %v" inputs.nested inputs.nul >>', '<< printf "%+d %x" 5 "hi" >>',
  // strings
  '<< inputs.text | upper >>', '<< inputs.text | lower >>', '<< "hello world-foo_bar" | title >>', '<< inputs.text | trunc 5 >>', '<< inputs.text | trunc -5 >>',
  '<< inputs.text | trunc 50 >>', '<< substr 0 5 inputs.text >>', '<< substr 6 100 inputs.text >>', '<< substr -1 3 inputs.text >>', '<< repeat 3 "ab" >>',
  '<< trim "  x  " >>', '<< trimAll "-" "--x--" >>', '<< trimall "-" "--x--" >>', '<< trimPrefix "He" inputs.text >>', '<< trimSuffix "ld" inputs.text >>',
  '<< contains "World" inputs.text >>', '<< hasPrefix "He" inputs.text >>', '<< hasSuffix "x" inputs.text >>', '<< quote "a" 1 nil inputs.tags >>',
  '<< squote "a" 1 nil >>', '<< cat "a" 1 nil inputs.nested >>', '<< indent 2 inputs.multi >>', '<< nindent 4 "a\\nb" >>', '<< replace "o" "0" inputs.text >>',
  '<< replace "" "-" "abc" >>', '<< plural "one" "many" 1 >>', '<< plural "one" "many" inputs.replicas >>', '<< toString inputs.list >>',
  '<< split "," inputs.csv >>', '<< (split "," inputs.csv)._2 >>', '<< splitList "," inputs.csv >>', '<< splitn "," 2 inputs.csv >>', '<< toStrings inputs.list >>',
  '<< join "-" inputs.list >>', '<< join "-" "single" >>', '<< sortAlpha inputs.names >>', '<< sortAlpha "x" >>', '<< inputs.unicode | slugify >>',
  '<< inputs.semver | slugify >>', '<< "" | slugify >>', '<< sha1sum "x" >>', '<< sha256sum "x" >>', '<< adler32sum "x" >>', '<< b64enc "héllo" >>',
  '<< b64dec "aGVsbG8=" >>', '<< b64dec "!!" >>', '<< b32enc "hello" >>', '<< b32dec "NBSWY3DP" >>', '<< b32dec "x" >>', '<< hello >>',
  // lists and dicts
  '<< list 1 "a" nil >>', '<< tuple >>', '<< append inputs.tags "c" >>', '<< prepend inputs.tags "z" >>', '<< append "x" "c" >>', '<< mustAppend 1 2 >>',
  '<< first inputs.tags >>', '<< first inputs.emptyList >>', '<< last inputs.tags >>', '<< rest inputs.tags >>', '<< rest inputs.emptyList >>',
  '<< initial inputs.tags >>', '<< reverse inputs.names >>', '<< uniq inputs.names >>', '<< without inputs.names "a" >>', '<< has "a" inputs.names >>',
  '<< has "a" nil >>', '<< compact inputs.list >>', '<< slice inputs.names 1 3 >>', '<< slice inputs.names 2 >>', '<< slice inputs.emptyList >>',
  '<< concat inputs.tags inputs.names >>', '<< concat inputs.tags "x" >>', '<< chunk 3 inputs.names >>', '<< dict "a" 1 "b" >>', '<< dict >>',
  '<< get inputs.nested "k1" >>', '<< get inputs.nested "none" >>', '<< hasKey inputs.nested "k1" >>', '<< keys inputs.nested | sortAlpha >>',
  '<< pick inputs.nested "k1" "zz" >>', '<< omit inputs.nested "k1" >>', '<< pluck "k1" inputs.nested (dict "k1" 9) >>', '<< values (dict "a" 1) >>',
  '<< dig "nested" "deep" "x" "d" inputs >>', '<< dig "nested" "none" "d" inputs >>', '<< dig "a" "b" inputs >>', '<< set (dict) "k" 1 >>',
  '<< unset (dict "a" 1) "a" >>', '<< default "d" inputs.empty >>', '<< default "d" inputs.tenant >>', '<< default "d" >>', '<< empty inputs.emptyMap >>',
  '<< empty inputs.zero >>', '<< coalesce inputs.empty inputs.zero inputs.tenant >>', '<< coalesce >>', '<< all 1 "" >>', '<< any 0 "x" >>',
  '<< ternary "a" "b" true >>', '<< ternary "a" "b" 1 >>', '<< deepEqual inputs.tags (list "a" "b") >>', '<< deepEqual 1 inputs.replicas >>',
  // math
  '<< add 1 2 "3" 4.9 >>', '<< add1 inputs.replicas >>', '<< sub 5 inputs.ratio >>', '<< mul 2 3 4 >>', '<< div 7 2 >>', '<< div 1 0 >>', '<< mod 7 3 >>',
  '<< max 1 5 3 >>', '<< min 1 5 -3 >>', '<< biggest 2 9 >>', '<< maxf 1 2.5 >>', '<< minf 1 2.5 >>', '<< ceil 1.2 >>', '<< floor 1.8 >>', '<< round 3.14159 2 >>',
  '<< round 2.5 0 >>', '<< seq 3 >>', '<< seq 2 5 >>', '<< seq 5 -1 1 >>', '<< seq 0 >>', '<< until 3 >>', '<< until -2 >>', '<< untilStep 0 10 3 >>',
  // regex
  '<< regexMatch "^[a-z]+$" "abc" >>', '<< regexMatch "(" "abc" >>', '<< mustRegexMatch "(" "abc" >>', '<< regexFind "[0-9]+" "a12b34" >>',
  '<< regexFindAll "[0-9]" "a1b2c3" 2 >>', '<< regexFindAll "x*" "axxb" -1 >>', '<< regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" >>',
  '<< regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" >>', '<< regexReplaceAllLiteral "a(x*)b" "-ab-" "$1" >>', '<< regexSplit "z+" "pizza" -1 >>',
  '<< regexSplit "" "abc" -1 >>', '<< regexSplit "z" "pizza" 2 >>', '<< regexQuoteMeta "1.5*[x]" >>', '<< regexFind "(?i)WORLD" inputs.text >>',
  '<< regexReplaceAll "(?P<first>\\\\w+) (?P<last>\\\\w+)" inputs.text "${last} ${first}" >>',
  // paths, urls, json, yaml
  '<< base "a/b/c.tar.gz" >>', '<< dir "a/b/c" >>', '<< dir "c" >>', '<< clean "/../a//b/./c/.." >>', '<< ext "a/b.c/d" >>', '<< isAbs "/x" >>',
  '<< osBase "/a/b/" >>', '<< urlParse inputs.url >>', '<< (urlParse inputs.url).userinfo >>', '<< urlJoin (dict "scheme" "http" "host" "h:1" "path" "p" "fragment" "f") >>',
  '<< toJson inputs.nested >>', '<< toJson "<a&b>" >>', '<< toRawJson "<a&b>" >>', '<< toPrettyJson inputs.nested >>', '<< toJson inputs.list >>',
  '<< toJson inputs.big >>', '<< toJson 1e-7 >>', '<< fromJson "{\\"a\\":1,\\"b\\":[1.5,true]}" >>', '<< (fromJson "{\\"a\\":1}").a | typeOf >>',
  '<< fromJson "bad" >>', '<< mustFromJson "bad" >>', '<< toYaml inputs >>', '<< toYaml inputs.list >>', '<< toYaml inputs.multi >>', '<< toYaml "" >>',
  '<< toYaml nil >>', '<< toYaml 1.5 >>', '<< toYaml inputs.emptyMap >>', '<< toYaml (dict "on" "yes" "n" "08" "t" "2024-01-02" "x" "12:30") >>',
  '<< toYaml (list (list 1 2) (dict "a" (list))) >>', '<< toYaml (dict "k" " lead" "l" "trail " "m" "a: b" "n" "#c" "o" "x #y" "p" "-" "q" "- x") >>',
  '<< toYaml (dict "long" (repeat 30 "word ")) >>', '<< toYaml (dict "a10" 1 "a9" 2 "A" 3 "_b" 4 "a" 5 "a01" 6 "a1" 7) >>',
  '<< html "<x y=\'1\'>&" >>', '<< js "a\'b\\"c<>=&" >>', '<< urlquery "a b/c?d" >>', '<< duration 90 >>', '<< duration "90" >>', '<< duration inputs.replicas >>',
  '<< durationRound "49h" >>', '<< durationRound "3s" >>',
];

/** The data every commit message case sees (`.`). @internal */
export const COMMIT_DATA = JSON.stringify({
  AutomationObject: 'flux-system/podinfo',
  Values: { cluster: 'prod', region: 'eu-west-1', count: 3 },
  Changed: {
    Changes: [
      { OldValue: 'ghcr.io/stefanprodan/podinfo:6.0.0', NewValue: 'ghcr.io/stefanprodan/podinfo:6.0.1', Setter: 'flux-system:podinfo' },
      { OldValue: '6.0.0', NewValue: '6.0.1', Setter: 'flux-system:podinfo:tag' },
    ],
    FileChanges: { 'deploy.yaml': { 'Deployment/default/podinfo': [{ OldValue: 'a', NewValue: 'b' }] } },
  },
});

/** Commit-message cases (`{{ }}`, template name `msg`, sprig v3.3.0). @internal */
export const COMMIT_CASES: string[] = [
  'Automation: {{ .AutomationObject }}',
  '{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}',
  '{{ range $file, $objs := .Changed.FileChanges }}File: {{ $file }}{{ range $obj, $chs := $objs }} {{ $obj }}={{ len $chs }}{{ end }}{{ end }}',
  'Cluster: {{ .Values.cluster }} {{ index .Values "region" }}', '{{ .Values.missing }}', '{{ .Updated }}', '{{ .Values.count | int | add 1 }}',
  '{{ "x" | upper | repeat 2 }}', '{{ nospace "a b c" }}', '{{ swapcase "aBc" }}', '{{ snakecase "HelloWorld" }}', '{{ kebabcase "HelloWorld" }}',
  '{{ camelcase "hello_world" }}', '{{ initials "hello world" }}', '{{ abbrev 5 "hello world" }}', '{{ untitle "Hello World" }}', '{{ sha512sum "x" }}',
  '{{ "v1.2.3" | trimPrefix "v" }}', '{{ int "0x10" }}', '{{ int "2.0" }}', '{{ toDecimal "10" }}', '{{ merge (dict "a" 1) (dict "a" 2 "b" 3) }}',
  '{{ mergeOverwrite (dict "a" 1) (dict "a" 2 "b" 3) }}', '{{ addf 1.5 2 }}', '{{ mulf 1.5 2 }}', '{{ now }}', '{{ env "HOME" }}',
  '{{- range .Changed.Changes -}}\n{{ .Setter }}\n{{- end }}', '{{ push (list) 1 }}', '{{ printf "%s/%s" "a" "b" }}', '{{ deepCopy .Values }}',
];
