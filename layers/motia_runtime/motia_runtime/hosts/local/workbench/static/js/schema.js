// An example value from a JSON Schema (as pydantic or a step's dict produces it), used to
// prefill the Endpoints body editor: defaults and examples first, then the first enum value,
// then a value of the right type that respects the simple bounds.

const MAX_DEPTH = 6;

function resolve(schema, root) {
  let current = schema;
  for (let hops = 0; current && current.$ref && hops < 20; hops++) {
    if (!current.$ref.startsWith('#/')) return {};
    current = current.$ref.slice(2).split('/').reduce((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], root);
  }
  return current || {};
}

export function exampleFromSchema(schema, root = schema, depth = 0) {
  const node = resolve(schema, root);
  if (depth > MAX_DEPTH) return null;
  if ('example' in node) return node.example;
  if (Array.isArray(node.examples) && node.examples.length) return node.examples[0];
  if ('default' in node && node.default !== null) return node.default;
  if ('const' in node) return node.const;
  if (Array.isArray(node.enum) && node.enum.length) return node.enum[0];
  const variants = node.anyOf || node.oneOf;
  if (Array.isArray(variants)) {
    const useful = variants.find((v) => resolve(v, root).type !== 'null') || variants[0];
    return exampleFromSchema(useful, root, depth + 1);
  }
  if (Array.isArray(node.allOf)) {
    return Object.assign({}, ...node.allOf.map((part) => exampleFromSchema(part, root, depth + 1)));
  }
  const type = Array.isArray(node.type) ? node.type.find((t) => t !== 'null') : node.type;
  switch (type ?? (node.properties ? 'object' : undefined)) {
    case 'object': {
      const out = {};
      for (const [key, prop] of Object.entries(node.properties || {})) {
        // Optional fields whose default is null are left out: they would only add noise.
        if (!(node.required || []).includes(key) && resolve(prop, root).default === null) continue;
        out[key] = exampleFromSchema(prop, root, depth + 1);
      }
      return out;
    }
    case 'array':
      return node.items ? [exampleFromSchema(node.items, root, depth + 1)] : [];
    case 'string':
      return stringExample(node);
    case 'integer':
    case 'number':
      return node.minimum ?? (node.exclusiveMinimum !== undefined ? node.exclusiveMinimum + 1 : 0);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return null;
  }
}

function stringExample(node) {
  switch (node.format) {
    case 'date-time': return new Date().toISOString();
    case 'date': return new Date().toISOString().slice(0, 10);
    case 'email': return 'user@example.com';
    case 'uri': case 'url': return 'https://example.com';
    case 'uuid': return '00000000-0000-4000-8000-000000000000';
    default: break;
  }
  const text = 'string';
  return node.minLength > text.length ? text.padEnd(node.minLength, 'x') : text;
}
