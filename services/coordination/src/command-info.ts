import { commandTypes, type CommandTypeInfo } from '@orch/contracts';

/** The proto declaration of `coordination.<name>`; fails at start-up when proto/ has none. */
export const command = (name: string): CommandTypeInfo => {
  const info = commandTypes.get(`coordination.${name}`);
  if (!info) throw new Error(`proto/ declares no command coordination.${name}`);
  return info;
};
