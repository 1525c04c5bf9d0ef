// The explorer's schema browser: one introspection query, run with the administrator's
// session (administrators may introspect when anonymous callers may not), drawn as a list of
// types with a filter box, and the chosen type's fields with their arguments, input fields or
// enum values, each type named in them a link to that type, with the descriptions.

import { rawGraphql } from './api.js';
import { describeError, h, loading, replace } from './ui.js';

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }';

export const INTROSPECTION = `query ConsoleIntrospection {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      kind name description
      fields(includeDeprecated: true) {
        name description isDeprecated deprecationReason
        args { name description defaultValue type { ${TYPE_REF} } }
        type { ${TYPE_REF} }
      }
      inputFields { name description defaultValue type { ${TYPE_REF} } }
      interfaces { name }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { name }
    }
  }
}`;

const KIND_NAMES = {
  OBJECT: 'object',
  INPUT_OBJECT: 'input',
  ENUM: 'enum',
  SCALAR: 'scalar',
  INTERFACE: 'interface',
  UNION: 'union',
};

/**
 * Draws the schema browser of `endpoint` into `container`. Answers `{ reload }`.
 */
export function renderSchemaBrowser(container, endpoint) {
  let schema = null;
  const filter = h('input', { id: 'schema-filter', type: 'search', autocomplete: 'off', spellcheck: 'false', 'aria-controls': 'schema-types' });
  const typeList = h('ul', { id: 'schema-types', className: 'type-list', 'aria-label': 'Types' });
  const detail = h('div', { id: 'schema-type', className: 'type-detail', role: 'region', 'aria-label': 'Chosen type', tabindex: '0' });
  const reloadButton = h('button', { id: 'schema-reload', type: 'button', className: 'button button-small' }, 'Reload schema');
  const body = h('div', { className: 'schema-body' }, loading('Loading the schema…'));

  container.append(
    h('div', { className: 'section-header' }, h('h2', { id: 'schema-heading' }, 'Schema'), reloadButton),
    body,
  );

  function typeLink(name) {
    const button = h('button', { type: 'button', className: 'link-button type-link', dataset: { type: name } }, name);
    button.addEventListener('click', () => show(name, { focus: true }));
    return button;
  }

  /** A type reference as written in GraphQL (`[Identity!]!`), its named type a link. */
  function typeRef(ref) {
    if (!ref) return '';
    if (ref.kind === 'NON_NULL') return [typeRef(ref.ofType), '!'];
    if (ref.kind === 'LIST') return ['[', typeRef(ref.ofType), ']'];
    return typeLink(ref.name);
  }

  function description(text) {
    return text ? h('p', { className: 'description' }, text) : null;
  }

  function drawList() {
    const needle = filter.value.trim().toLowerCase();
    const roots = [schema.queryType?.name, schema.mutationType?.name, schema.subscriptionType?.name].filter(Boolean);
    const types = schema.types
      .filter((type) => !type.name.startsWith('__'))
      .filter((type) => !needle || type.name.toLowerCase().includes(needle))
      .sort((a, b) => Number(roots.includes(b.name)) - Number(roots.includes(a.name)) || a.name.localeCompare(b.name));
    replace(
      typeList,
      types.map((type) =>
        h('li', {}, typeLink(type.name), h('span', { className: 'type-kind' }, ` ${roots.includes(type.name) ? 'root' : KIND_NAMES[type.kind] ?? type.kind.toLowerCase()}`)),
      ),
    );
    if (!types.length) typeList.append(h('li', { className: 'muted' }, 'No type matches.'));
  }

  function fieldItem(item) {
    const args = item.args?.length
      ? [
          '(',
          item.args.map((arg, index) => [index ? ', ' : '', h('span', { className: 'arg-name' }, arg.name), ': ', typeRef(arg.type), arg.defaultValue != null ? ` = ${arg.defaultValue}` : '']),
          ')',
        ]
      : null;
    const argDocs = (item.args ?? []).filter((arg) => arg.description);
    return h(
      'li',
      { className: 'schema-field', dataset: { field: item.name } },
      h('code', {}, h('span', { className: 'field-name' }, item.name), args, ': ', item.type ? typeRef(item.type) : null, item.defaultValue != null ? ` = ${item.defaultValue}` : ''),
      item.isDeprecated ? h('p', { className: 'deprecated' }, `Deprecated${item.deprecationReason ? `: ${item.deprecationReason}` : ''}`) : null,
      description(item.description),
      argDocs.length ? h('ul', { className: 'arg-docs' }, argDocs.map((arg) => h('li', {}, h('code', {}, arg.name), ': ', arg.description))) : null,
    );
  }

  function show(name, { focus = false } = {}) {
    const type = schema?.types.find((candidate) => candidate.name === name);
    if (!type) return;
    const heading = h('h3', { id: 'schema-type-name', tabindex: '-1' }, type.name, h('span', { className: 'type-kind' }, ` ${KIND_NAMES[type.kind] ?? type.kind.toLowerCase()}`));
    const parts = [heading, description(type.description)];
    if (type.interfaces?.length) parts.push(h('p', {}, 'Implements ', type.interfaces.map((item, index) => [index ? ', ' : '', typeLink(item.name)])));
    if (type.fields?.length) parts.push(h('h4', {}, 'Fields'), h('ul', { className: 'field-list' }, type.fields.map(fieldItem)));
    if (type.inputFields?.length) parts.push(h('h4', {}, 'Input fields'), h('ul', { className: 'field-list' }, type.inputFields.map(fieldItem)));
    if (type.enumValues?.length) {
      parts.push(
        h('h4', {}, 'Values'),
        h(
          'ul',
          { className: 'field-list' },
          type.enumValues.map((value) =>
            h('li', { className: 'schema-field' }, h('code', {}, value.name), value.isDeprecated ? h('p', { className: 'deprecated' }, 'Deprecated') : null, description(value.description)),
          ),
        ),
      );
    }
    if (type.possibleTypes?.length) parts.push(h('h4', {}, 'Possible types'), h('p', {}, type.possibleTypes.map((item, index) => [index ? ', ' : '', typeLink(item.name)])));
    replace(detail, parts);
    if (focus) heading.focus();
  }

  async function load() {
    replace(body, loading('Loading the schema…'));
    const { status, body: answer } = await rawGraphql(endpoint, INTROSPECTION);
    if (!answer?.data?.__schema) {
      const error = answer?.errors?.[0];
      replace(
        body,
        h('p', { className: 'notice notice-error' }, 'The schema could not be loaded: ', describeError({ message: error?.message ?? `the server answered ${status}`, code: error?.extensions?.code })),
      );
      return;
    }
    schema = answer.data.__schema;
    replace(
      body,
      h('div', { className: 'field' }, h('label', { for: 'schema-filter' }, 'Filter types'), filter),
      h('div', { className: 'schema-columns' }, h('nav', { className: 'type-nav', 'aria-label': 'Schema types' }, typeList), detail),
    );
    drawList();
    show(schema.queryType?.name);
  }

  filter.addEventListener('input', drawList);
  reloadButton.addEventListener('click', () => load());
  load();
  return { reload: load };
}
