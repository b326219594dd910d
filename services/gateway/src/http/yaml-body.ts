import { ValidationError } from '@orch/domain-kit';
import type { FastifyInstance } from 'fastify';
import { YAMLParseError, parse } from 'yaml';

/** Media types a workflow file may be sent as. */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/**
 * Accepts YAML bodies (a workflow file is a session request written in YAML), parsed into the
 * same value JSON would give, so the same validation applies. Aliases are capped, which defuses
 * "billion laughs" documents; a syntax error is a 400 naming the line.
 */
export function installYamlBody(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(YAML_MEDIA_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parse(body as string, { maxAliasCount: 100, prettyErrors: false }) as unknown);
    } catch (err) {
      const where = err instanceof YAMLParseError ? `line ${lineAt(body as string, err.pos[0])}: ` : '';
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      done(
        new ValidationError('the request body is not valid YAML', [
          { path: 'body', message: `${where}${message}` },
        ]),
      );
    }
  });
}

/** 1-based line of a character offset. */
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;
