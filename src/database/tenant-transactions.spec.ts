import { BadRequestException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { isReplicaFailure } from './tenant-transactions';

const sqlError = (code: string, constraint?: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error(`sqlstate ${code}`), { code, constraint }));

describe('isReplicaFailure: which errors send a read from a replica to the primary', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' })],
    ['a broken pipe', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['the client-side query timeout', new Error('Query read timeout')],
    ['a connection lost mid-query', new QueryFailedError('SELECT 1', [], new Error('Connection terminated unexpectedly'))],
    ['statement_timeout (57014)', sqlError('57014')],
    ['a recovery conflict (40001)', sqlError('40001')],
    ['the replica shutting down (57P01)', sqlError('57P01')],
    ['a connection exception (08006)', sqlError('08006')],
    ['too many connections (53300)', sqlError('53300')],
  ])('%s is the replica’s failure', (_name, error) => {
    expect(isReplicaFailure(error)).toBe(true);
  });

  it.each([
    ['an HTTP answer of the work', new NotFoundException()],
    ['a validation answer', new BadRequestException('bad')],
    ['invalid input (22P02)', sqlError('22P02')],
    ['an undefined column (42703)', sqlError('42703')],
    ['a permission error (42501)', sqlError('42501')],
  ])('%s is the work’s own answer, not retried', (_name, error) => {
    expect(isReplicaFailure(error)).toBe(false);
  });
});
