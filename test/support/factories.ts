import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { TestApp } from './test-app';

export interface SignedUp {
  token: string;
  organization: { id: string; name: string; slug: string; tier: string };
  user: { id: string; email: string; role: string };
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}.${randomBytes(5).toString('hex')}@example.test`;
}

export function http(testApp: TestApp) {
  return request(testApp.app.getHttpServer() as App);
}

/** A new organization with its admin, through the real signup endpoint. */
export async function signup(testApp: TestApp, overrides: Partial<{ organization_name: string; name: string; email: string; password: string }> = {}): Promise<SignedUp> {
  const body = {
    organization_name: `Org ${randomBytes(3).toString('hex')}`,
    name: 'Admin Person',
    email: uniqueEmail('admin'),
    password: 'correct horse battery',
    ...overrides,
  };
  const response = await http(testApp).post('/api/v1/auth/signup').send(body).expect(201);
  return { token: response.body.access_token, organization: response.body.organization, user: response.body.user };
}

/** A user of the caller's organization with a password, logged in; returns its token and id. */
export async function userWithRole(testApp: TestApp, admin: SignedUp, role: 'admin' | 'teacher' | 'student') {
  const email = uniqueEmail(role);
  const password = 'a long enough password';
  const created = await http(testApp).post('/api/v1/users').set('Authorization', `Bearer ${admin.token}`).send({ email, name: `A ${role}`, role, password }).expect(201);
  const login = await http(testApp).post('/api/v1/auth/login').send({ email, password }).expect(200);
  return { id: created.body.id as string, email, password, token: login.body.access_token as string };
}

export async function createUser(testApp: TestApp, token: string, overrides: Record<string, unknown> = {}) {
  const response = await http(testApp)
    .post('/api/v1/users')
    .set('Authorization', `Bearer ${token}`)
    .send({ email: uniqueEmail(), name: 'Learner', role: 'student', ...overrides })
    .expect(201);
  return response.body as { id: string; email: string; created_at: string; last_active_at: string | null; last_login_at: string | null };
}

export async function createContent(testApp: TestApp, token: string, overrides: Record<string, unknown> = {}) {
  const response = await http(testApp)
    .post('/api/v1/content')
    .set('Authorization', `Bearer ${token}`)
    .send({ title: 'A lesson', content_type: 'lesson', ...overrides })
    .expect(201);
  return response.body as { id: string; status: string; published_at: string | null };
}

export function event(userId: string, overrides: Record<string, unknown> = {}) {
  return { id: randomUUID(), type: 'login', user_id: userId, occurred_at: new Date().toISOString(), ...overrides };
}
