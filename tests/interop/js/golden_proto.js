// Golden check: our proto/ contracts against the protocol code generated into the official
// TypeScript SDK (ts-proto output under <sdk>/protoc).
//
//   node golden_proto.js <sdk package dir> <our FileDescriptorSet (protoc --include_imports)>
//
// Ours is read from the descriptor set. Theirs is read from the generated JavaScript: every
// exported message object has a decode() whose `case N:` blocks name the field, check its wire
// tag and call the reader (reader.string(), Foo.decode(reader, ...)), and a fromJSON() that names
// the enum of each enum field (fooFromJSON(object.x)). Enums are the exported objects themselves,
// services the exported *Definition objects.
//
// Fails (exit 1) on: a message, enum or service of ours missing in theirs; a field number used on
// both sides with a different type, cardinality or wire tag; a field name present on both sides
// under different numbers; an enum value with a different number; a method with different types
// or streaming. Fields, values, methods and files that exist on one side only are listed as
// information (the SDK carries newer fields than we need).

'use strict';

const fs = require('fs');
const path = require('path');
const { fromBinary } = require('@bufbuild/protobuf');
const { FileDescriptorSetSchema } = require('@bufbuild/protobuf/wkt');

const [sdkDir, descriptorFile] = process.argv.slice(2);
if (!sdkDir || !descriptorFile) {
  console.error('usage: node golden_proto.js <sdk package dir> <descriptor set>');
  process.exit(2);
}

// FieldDescriptorProto.Type -> the BinaryReader method ts-proto calls for it.
const READER_OF_TYPE = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32',
  8: 'bool', 9: 'string', 12: 'bytes', 13: 'uint32', 14: 'int32', 15: 'sfixed32',
  16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_REPEATED = 3;
// Wire type of each reader method (length-delimited for messages, strings and bytes).
const WIRE_OF_READER = {
  double: 1, fixed64: 1, sfixed64: 1, float: 5, fixed32: 5, sfixed32: 5, string: 2, bytes: 2,
  int64: 0, uint64: 0, int32: 0, uint32: 0, bool: 0, sint32: 0, sint64: 0,
};

const failures = [];
const infos = [];
const fail = (m) => failures.push(m);
const info = (m) => infos.push(m);

// ---------------------------------------------------------------------------------------------
// Theirs: the generated JavaScript

const protocDir = path.join(sdkDir, 'protoc');

function listJs(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listJs(p));
    else if (e.name.endsWith('.js') && e.name !== 'index.js') out.push(p);
  }
  return out;
}

const theirs = {
  files: new Map(),    // proto source path -> module file
  messages: new Map(), // "pkg.Name" (nested as Outer_Inner) -> { file, fields: Map<number, field> }
  enums: new Map(),    // "pkg.Name" -> Map<valueName, number>
  services: new Map(), // fullName -> { methods: Map<name, method> }
};
const nameOfObject = new Map(); // exported message object -> "pkg.Name"

/// The local names a module gives to its requires: `const foo_1 = require("../x")` -> module.
function requiresOf(file, source) {
  const out = new Map();
  for (const m of source.matchAll(/const (\w+) = require\("([^"]+)"\)/g)) {
    if (!m[2].startsWith('.')) continue;
    out.set(m[1], require(path.resolve(path.dirname(file), m[2])));
  }
  return out;
}

function qualified(pkg, name) {
  return pkg ? `${pkg}.${name}` : name;
}

/// Parses a ts-proto decode() into fields keyed by number.
function parseDecode(decodeSource, fromJsonSource, localModules, pkg) {
  const fields = new Map();
  const blocks = decodeSource.split(/\n\s*case (\d+): \{/);
  for (let i = 1; i < blocks.length; i += 2) {
    const number = Number(blocks[i]);
    // the last block runs on into the end-group / unknown-field handling: cut that off
    const body = blocks[i + 1].split('if ((tag & 7) === 4')[0];
    const tags = [...body.matchAll(/tag [!=]== (\d+)/g)].map((m) => Number(m[1]));
    const target = body.match(/message\.(\w+)(\.push\(|\[entry\d+\.key\]| = )/);
    if (!target) {
      fail(`cannot parse their decode block for field ${number}: ${body.slice(0, 200)}`);
      continue;
    }
    const f = { number, name: target[1], tags, repeated: target[2] !== ' = ', map: false };
    const nested = body.match(/(?:(\w+)\.)?(\w+)\.decode\(reader, reader\.uint32\(\)\)/);
    if (nested) {
      const owner = nested[1];
      let msgPkg = pkg;
      if (owner && owner !== 'exports') {
        const mod = localModules.get(owner);
        msgPkg = mod ? mod.protobufPackage : `?${owner}`;
      }
      f.kind = 'message';
      f.typeName = qualified(msgPkg, nested[2]);
      f.map = target[2].startsWith('[');
    } else {
      const reader = body.match(/reader\.(\w+)\(\)/);
      if (!reader) {
        fail(`cannot find the reader call for their field ${f.name} = ${number}`);
        continue;
      }
      f.kind = 'scalar';
      f.reader = reader[1];
    }
    fields.set(number, f);
  }
  // Enum fields: fooFromJSON(object.x) or object.x.map((e) => fooFromJSON(e)).
  for (const m of fromJsonSource.matchAll(/(\w+)FromJSON\(object\.(\w+)\)/g))
    for (const f of fields.values())
      if (f.name === m[2]) f.enumName = m[1][0].toUpperCase() + m[1].slice(1);
  for (const m of fromJsonSource.matchAll(/object\.(\w+)\.map\(\(e\) => (\w+)FromJSON\(e\)\)/g))
    for (const f of fields.values())
      if (f.name === m[1]) f.enumName = m[2][0].toUpperCase() + m[2].slice(1);
  return fields;
}

for (const file of listJs(protocDir)) {
  const source = fs.readFileSync(file, 'utf8');
  const src = source.match(/^\/\/ source: (.+)$/m);
  if (!src) continue;
  const mod = require(file);
  const pkg = mod.protobufPackage;
  theirs.files.set(src[1], file);
  const locals = requiresOf(file, source);
  for (const [exportName, value] of Object.entries(mod)) {
    if (!value || typeof value !== 'object') continue;
    if (typeof value.decode === 'function' && typeof value.encode === 'function') {
      const key = qualified(pkg, exportName);
      const fields = parseDecode(value.decode.toString(),
                                 typeof value.fromJSON === 'function' ? value.fromJSON.toString() : '',
                                 locals, pkg);
      theirs.messages.set(key, { file: src[1], fields });
      nameOfObject.set(value, key);
    } else if (value.fullName !== undefined && value.methods) {
      const methods = new Map();
      for (const m of Object.values(value.methods)) methods.set(m.name, m);
      theirs.services.set(value.fullName, { file: src[1], methods });
    } else if (!Array.isArray(value)) {
      // A TypeScript enum object: name -> number and number -> name.
      const values = new Map();
      for (const [k, v] of Object.entries(value))
        if (typeof v === 'number' && k !== 'UNRECOGNIZED') values.set(k, v);
      if (values.size > 0) theirs.enums.set(qualified(pkg, exportName), values);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Ours: the descriptor set

const set = fromBinary(FileDescriptorSetSchema, fs.readFileSync(descriptorFile));
const ours = { files: [], messages: new Map(), enums: new Map(), services: new Map() };
const mapEntries = new Set(); // full names of synthetic map entry messages

/// ".v1.Outer.Inner" -> "v1.Outer_Inner" (ts-proto's naming of nested types).
function tsName(fullName, pkg) {
  const n = fullName.replace(/^\./, '');
  if (pkg && n.startsWith(pkg + '.')) return qualified(pkg, n.slice(pkg.length + 1).replace(/\./g, '_'));
  if (pkg) return n; // a type from another package: no nesting in what we use
  return n.replace(/\./g, '_');
}

/// Package of a fully qualified type name, found through the files of the set.
const packageOfType = new Map();
function collectTypes(pkg, prefix, messages, enums) {
  for (const e of enums) packageOfType.set(`.${qualified(pkg, prefix + e.name)}`, pkg);
  for (const m of messages) {
    const full = `.${qualified(pkg, prefix + m.name)}`;
    packageOfType.set(full, pkg);
    if (m.options && m.options.mapEntry) mapEntries.add(full);
    collectTypes(pkg, `${prefix}${m.name}.`, m.nestedType, m.enumType);
  }
}
for (const f of set.file) collectTypes(f.package, '', f.messageType, f.enumType);
const oursTs = (full) => tsName(full, packageOfType.get(full) ?? '');

function addOurMessages(file, prefix, messages, enums) {
  for (const e of enums) {
    const values = new Map();
    for (const v of e.value) values.set(v.name, v.number);
    ours.enums.set(tsName(`.${qualified(file.package, prefix + e.name)}`, file.package), values);
  }
  for (const m of messages) {
    const full = `.${qualified(file.package, prefix + m.name)}`;
    const fields = new Map();
    for (const fd of m.field) {
      const f = {
        number: fd.number, name: fd.jsonName, protoName: fd.name,
        repeated: fd.label === LABEL_REPEATED, map: false,
      };
      if (fd.type === TYPE_MESSAGE) {
        f.kind = 'message';
        f.map = f.repeated && mapEntries.has(fd.typeName);
        f.typeName = oursTs(fd.typeName);
      } else {
        f.kind = 'scalar';
        f.reader = READER_OF_TYPE[fd.type];
        if (fd.type === TYPE_ENUM) f.enumName = oursTs(fd.typeName).split('.').pop();
      }
      fields.set(fd.number, f);
    }
    ours.messages.set(tsName(full, file.package), { file: file.name, fields });
    addOurMessages(file, `${prefix}${m.name}.`, m.nestedType, m.enumType);
  }
}

for (const file of set.file) {
  if (file.name.startsWith('google/')) continue; // well-known types are not ours
  ours.files.push(file.name);
  addOurMessages(file, '', file.messageType, file.enumType);
  for (const s of file.service) {
    const methods = new Map();
    for (const m of s.method)
      methods.set(m.name, {
        requestType: oursTs(m.inputType), responseType: oursTs(m.outputType),
        requestStream: !!m.clientStreaming, responseStream: !!m.serverStreaming,
      });
    ours.services.set(qualified(file.package, s.name), { file: file.name, methods });
  }
}

// ---------------------------------------------------------------------------------------------
// Compare

function describeField(f) {
  const card = f.map ? 'map' : f.repeated ? 'repeated' : 'singular';
  const type = f.kind === 'message' ? f.typeName : f.enumName ? `enum ${f.enumName}` : f.reader;
  return `${card} ${type}`;
}

/// The wire tags ours would be decoded from: (number << 3) | wire type, plus the packed form of
/// repeated scalars (ts-proto accepts both).
function expectedTags(f) {
  if (f.kind === 'message') return [(f.number << 3) | 2];
  const wire = WIRE_OF_READER[f.reader];
  const tags = [(f.number << 3) | wire];
  if (f.repeated && wire !== 2) tags.push((f.number << 3) | 2);
  return tags;
}

let fieldsCompared = 0;
for (const [name, mine] of [...ours.messages].sort()) {
  const their = theirs.messages.get(name);
  if (!their) {
    fail(`message ${name} (${mine.file}) is missing in the SDK`);
    continue;
  }
  const theirByName = new Map([...their.fields.values()].map((f) => [f.name, f]));
  for (const [number, f] of mine.fields) {
    const t = their.fields.get(number);
    const sameName = theirByName.get(f.name);
    if (sameName && sameName.number !== number)
      fail(`${name}.${f.protoName}: ours is field ${number}, the SDK's is field ${sameName.number}`);
    if (!t) {
      if (!sameName) info(`${name}.${f.protoName} = ${number}: only in ours`);
      continue;
    }
    fieldsCompared += 1;
    if (t.name !== f.name)
      info(`${name} field ${number}: ours is named ${f.protoName}, the SDK's ${t.name} (same wire)`);
    const a = describeField(f);
    const b = describeField(t);
    if (a !== b) fail(`${name}.${f.protoName} = ${number}: ours is ${a}, the SDK's is ${b}`);
    const tags = expectedTags(f);
    for (const tag of t.tags)
      if (!tags.includes(tag))
        fail(`${name}.${f.protoName} = ${number}: the SDK decodes it from tag ${tag}, ` +
             `ours is written with ${tags.join(' or ')}`);
  }
  for (const [number, t] of their.fields)
    if (!mine.fields.has(number) && ![...mine.fields.values()].some((f) => f.name === t.name))
      info(`${name}.${t.name} = ${number}: only in the SDK (${describeField(t)})`);
}
for (const [name, their] of theirs.messages)
  if (!ours.messages.has(name) && ours.files.includes(their.file))
    info(`message ${name} (${their.file}): only in the SDK`);

let enumValuesCompared = 0;
for (const [name, values] of [...ours.enums].sort()) {
  const their = theirs.enums.get(name);
  if (!their) {
    fail(`enum ${name} is missing in the SDK`);
    continue;
  }
  for (const [v, n] of values) {
    if (!their.has(v)) {
      info(`enum ${name}.${v} = ${n}: only in ours`);
    } else if (their.get(v) !== n) {
      fail(`enum ${name}.${v}: ours is ${n}, the SDK's is ${their.get(v)}`);
    } else {
      enumValuesCompared += 1;
    }
  }
  for (const [v, n] of their)
    if (!values.has(v)) info(`enum ${name}.${v} = ${n}: only in the SDK`);
}

let methodsCompared = 0;
for (const [name, mine] of [...ours.services].sort()) {
  const their = theirs.services.get(name);
  if (!their) {
    fail(`service ${name} is missing in the SDK`);
    continue;
  }
  for (const [m, sig] of mine.methods) {
    const t = their.methods.get(m);
    if (!t) {
      info(`/${name}/${m}: only in ours`);
      continue;
    }
    methodsCompared += 1;
    const theirSig = {
      requestType: nameOfObject.get(t.requestType), responseType: nameOfObject.get(t.responseType),
      requestStream: !!t.requestStream, responseStream: !!t.responseStream,
    };
    for (const k of Object.keys(sig))
      if (sig[k] !== theirSig[k])
        fail(`/${name}/${m}: ${k} is ${sig[k]} in ours, ${theirSig[k]} in the SDK`);
  }
  for (const m of their.methods.keys())
    if (!mine.methods.has(m)) info(`/${name}/${m}: only in the SDK`);
}

for (const f of theirs.files.keys())
  if (!ours.files.includes(f) && !f.startsWith('google/')) info(`file ${f}: only in the SDK`);

for (const m of infos) console.log(`info: ${m}`);
for (const m of failures) console.log(`MISMATCH: ${m}`);
console.log(`golden: ${ours.messages.size} messages, ${fieldsCompared} fields, ` +
            `${enumValuesCompared} enum values, ${methodsCompared} methods compared; ` +
            `${failures.length} mismatches, ${infos.length} one-sided items`);
if (ours.messages.size === 0 || fieldsCompared === 0) {
  console.log('MISMATCH: nothing was compared');
  process.exit(1);
}
process.exit(failures.length === 0 ? 0 : 1);
