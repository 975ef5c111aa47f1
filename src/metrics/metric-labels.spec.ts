import { callLabels, methodLabel, routeLabel, statusLabel } from './metric-labels';

describe('metric labels', () => {
  const routes = new Map([['p1', { name: 'devup', models: new Set(['mock-model']) }]]);

  it('keeps a model only when it is an enabled rate of the call provider', () => {
    expect(callLabels(routes, 'p1', 'mock-model')).toEqual({ provider: 'devup', model: 'mock-model' });
    expect(callLabels(routes, 'p1', 'random-name')).toEqual({ provider: 'devup', model: 'other' });
    expect(callLabels(routes, null, 'mock-model')).toEqual({ provider: 'none', model: 'other' });
    expect(callLabels(routes, 'gone-provider', 'mock-model')).toEqual({ provider: 'none', model: 'other' });
  });

  it('bounds methods, routes and statuses', () => {
    expect(methodLabel('get')).toBe('GET');
    expect(methodLabel('PROPFIND')).toBe('other');
    expect(routeLabel('/admin/users/:id')).toBe('/admin/users/:id');
    expect(routeLabel(undefined)).toBe('unmatched');
    expect(routeLabel('')).toBe('unmatched');
    expect(statusLabel(404)).toBe('404');
    expect(statusLabel(0)).toBe('other');
    expect(statusLabel(1000)).toBe('other');
  });
});
