import { commandInfo } from './registry';

describe('commandInfo', () => {
  it('gives the declaration of `<service>.<name>`', () => {
    expect(commandInfo('coordination.AssignAgent')).toMatchObject({
      name: 'AssignAgent',
      service: 'coordination',
      subject: 'cmd.coordination.AssignAgent',
    });
  });

  it('throws for a command proto/ does not declare', () => {
    expect(() => commandInfo('coordination.NoSuchCommand')).toThrow(
      'proto/ declares no command coordination.NoSuchCommand',
    );
  });
});
