import { join } from 'node:path';
import ts from 'typescript';

/** A manifest object and the TypeScript declaration of its kind. */
export interface TypedObject {
  readonly label: string;
  readonly typeModule: string;
  readonly typeName: string;
  readonly object: unknown;
}

/**
 * The fields the models' declarations do not have, and values of the wrong type, as TypeScript's excess-property
 * check finds them in the object written as a literal of the kind's interface. The models' validate() is JSON
 * schema without additionalProperties, so a misspelt field passes it, while the API server rejects it (kubectl's
 * field validation is strict by default since Kubernetes 1.27).
 * @param projectDir where `node_modules` is found.
 * @returns one `label path: message` line per problem; empty when every object fits.
 */
export function fieldProblems(objects: readonly TypedObject[], projectDir: string): string[] {
  const file = join(projectDir, '.manifest-fields.ts'); // never written: served from memory to the compiler
  const imports = objects.map((object, index) => `import type { ${object.typeName} as T${index} } from '${object.typeModule}';`);
  let text = `${imports.join('\n')}\n`;
  const spans = objects.map((object, index) => {
    const start = text.length;
    text += `export const m${index}: T${index} = ${JSON.stringify(object.object, null, 1)};\n`;
    return { start, end: text.length, label: object.label };
  });

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, ...rest) => (name === file ? source : getSourceFile.call(host, name, ...rest));
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);

  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file !== source || diagnostic.start === undefined) return `(compiler) ${message}`;
    const position = diagnostic.start;
    const label = spans.find((span) => span.start <= position && position < span.end)?.label ?? '(imports)';
    return `${label} ${pathAt(source, position) || '(root)'}: ${message}`;
  });
}

/** `spec.template.spec.containers[0].image`: the property path down to a position in the literal. */
function pathAt(source: ts.SourceFile, position: number): string {
  let path = '';
  const visit = (node: ts.Node): void => {
    const child = ts.forEachChild(node, (inner) => (inner.getStart(source) <= position && position < inner.getEnd() ? inner : undefined));
    if (child === undefined) return;
    if (ts.isPropertyAssignment(child) && ts.isStringLiteral(child.name)) path += `${path === '' ? '' : '.'}${child.name.text}`;
    else if (ts.isArrayLiteralExpression(node)) path += `[${node.elements.indexOf(child as ts.Expression)}]`;
    visit(child);
  };
  visit(source);
  return path;
}
