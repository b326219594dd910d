import { Writable } from 'node:stream';
import { createLogger } from '../logger';
import { PinoNestLogger } from './pino-nest-logger';

describe('PinoNestLogger', () => {
  const setup = () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    return { lines, nest: new PinoNestLogger(createLogger({ service: 'svc', level: 'trace', destination })) };
  };

  it('writes Nest lines as JSON with their context', () => {
    const { lines, nest } = setup();
    nest.log('Mapped {/api/agents, POST} route', 'RouterExplorer');
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'svc',
      context: 'RouterExplorer',
      msg: 'Mapped {/api/agents, POST} route',
    });
  });

  it('keeps the stack trace Nest passes with an error', () => {
    const { lines, nest } = setup();
    nest.error('boom', 'Error: boom\n    at somewhere (file.ts:1:1)', 'ExceptionHandler');
    expect(lines[0]).toMatchObject({ level: 'error', context: 'ExceptionHandler', msg: 'boom' });
    expect(String(lines[0]?.['stack'])).toContain('at somewhere');
  });

  it('maps Nest levels to pino levels and honours setLogLevels', () => {
    const { lines, nest } = setup();
    nest.verbose('v');
    nest.debug('d');
    nest.warn('w');
    nest.fatal('f');
    expect(lines.map((l) => l['level'])).toEqual(['trace', 'debug', 'warn', 'fatal']);
    nest.setLogLevels(['warn', 'error']);
    nest.log('hidden');
    nest.error('shown');
    expect(lines.map((l) => l['msg']).slice(-1)).toEqual(['shown']);
  });

  it('logs an Error message with its error object', () => {
    const { lines, nest } = setup();
    nest.error(new Error('bad thing'));
    expect(lines[0]).toMatchObject({ msg: 'bad thing', err: { message: 'bad thing', type: 'Error' } });
  });
});
