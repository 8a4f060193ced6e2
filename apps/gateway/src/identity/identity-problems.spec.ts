import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProblemType, problem as problemOf } from '@tidemark/contracts';
import type { IdentityFailureCode } from '@tidemark/auth';
import { answer, identityProblem } from './identity-problems';

describe('identity refusals as HTTP problems', () => {
  it('answers an unknown workspace or device 404 and a taken device id 409, with the store’s detail', () => {
    for (const code of ['workspace-unknown', 'device-unknown'] as const) {
      const { problem, headers } = identityProblem({ code, detail: `no ${code}` });
      assert.deepEqual({ ...problem }, { ...problemOf(ProblemType.notFound, 404, 'Not found', { detail: `no ${code}` }) });
      assert.deepEqual(headers, {});
    }
    assert.deepEqual({ ...identityProblem({ code: 'device-exists', detail: 'taken' }).problem }, { ...problemOf(ProblemType.conflict, 409, 'Device exists', { detail: 'taken' }) });
  });

  it('answers a refused refresh 401 with its code and a Bearer challenge quoting the detail safely', () => {
    const codes: IdentityFailureCode[] = ['refresh-unknown', 'refresh-expired', 'device-revoked', 'refresh-reused'];
    for (const code of codes) {
      const { problem, headers } = identityProblem({ code, detail: 'the "token" is spent' });
      assert.deepEqual({ ...problem }, { ...problemOf(ProblemType.unauthorized, 401, 'Unauthorized', { detail: 'the "token" is spent', code }) });
      assert.deepEqual(headers, { 'www-authenticate': `Bearer error="invalid_token", error_description="the 'token' is spent"` });
    }
  });

  it('unwraps a result: its value, or its failure thrown as the problem', () => {
    assert.equal(answer({ ok: true, value: 7 }), 7);
    assert.throws(
      () => answer({ ok: false, failure: { code: 'device-exists', detail: 'taken' } }),
      (error: unknown) => identityProblemStatus(error) === 409,
    );
  });
});

const identityProblemStatus = (error: unknown): number | undefined => (error as { problem?: { status?: number } }).problem?.status;
