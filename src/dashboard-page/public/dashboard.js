// The organization's dashboard: plain DOM and uPlot, fed only by this service's API with the signed-in user's token.
(() => {
  'use strict';

  const API = '/api/v1';
  const TOKEN_KEY = 'toolbox-metrics.token';
  const PERIOD_NAMES = { '24h': '24 hours', '7d': '7 days', '30d': '30 days', '90d': '90 days' };
  // Insights exist for daily series of 30 or 90 days; 7 days shows the last part of the 30-day analysis.
  const INSIGHTS_PERIOD = { '7d': '30d', '30d': '30d', '90d': '90d' };
  const DAY = 86400;
  const $ = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    me: null,
    period: '7d',
    dashboard: null,
    activity: null,
    statistics: null,
    insights: null,
    insightsProblem: null,
    charts: {},
    stream: null,
    lastEventId: null,
    refetchTimer: null,
  };

  // ---------- the API ----------

  class ApiError extends Error {
    constructor(status, problem, retryAfter) {
      super(`HTTP ${status}`);
      this.status = status;
      this.problem = problem;
      this.retryAfter = retryAfter;
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: 'application/json', ...(options.headers || {}) };
    if (options.body) headers['Content-Type'] = 'application/json';
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    let response;
    try {
      response = await fetch(API + path, { ...options, headers, cache: 'no-store' });
    } catch (error) {
      if (error && error.name === 'AbortError') throw error;
      throw new ApiError(0, null, null);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async function errorOf(response) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    const header = Number(response.headers.get('Retry-After'));
    const retryAfter = Number.isFinite(header) && header > 0 ? header : problem && Number.isFinite(problem.retry_after) ? problem.retry_after : null;
    return new ApiError(response.status, problem, retryAfter);
  }

  const getJson = async (path) => (await api(path)).json();

  // ---------- errors in plain words ----------

  function duration(seconds) {
    const s = Math.max(1, Math.ceil(seconds));
    if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
    const m = Math.ceil(s / 60);
    if (m < 90) return `${m} minutes`;
    return `${Math.ceil(m / 60)} hours`;
  }

  function plainWords(error, context) {
    if (!(error instanceof ApiError)) return 'Something unexpected went wrong in the page. Reload it and try again.';
    const { status, problem, retryAfter } = error;
    switch (true) {
      case status === 0:
        return 'The service cannot be reached. Check your network connection and try again.';
      case status === 401 && context === 'sign-in':
        return 'That e-mail address and password do not match an account. Check them and try again.';
      case status === 401:
        return 'Your session has ended (it expired or you were signed out). Please sign in again.';
      case status === 403 && context === 'refresh':
        return 'Only an administrator of your organization can refresh the figures.';
      case status === 403:
        return 'Your account cannot see this dashboard: it is for the administrators and teachers of your organization. Ask an administrator if you need access.';
      case status === 429: {
        const wait = retryAfter ? ` Please wait ${duration(retryAfter)} and try again.` : ' Please wait a moment and try again.';
        return `${context === 'sign-in' ? 'Too many sign-in attempts.' : 'Too many requests in a short time.'}${wait}`;
      }
      case status === 503:
        return 'The service is temporarily unavailable: it cannot reach its database or cache, or it is busy. Please try again in a moment.';
      case status >= 500: {
        const reference = problem && typeof problem.correlation_id === 'string' ? ` If it keeps happening, give your administrator this reference: ${problem.correlation_id}.` : '';
        return `Something went wrong on the server.${reference}`;
      }
      default:
        return problem && typeof problem.detail === 'string' ? `The request was refused: ${problem.detail}` : `The request was refused (status ${status}).`;
    }
  }

  function showError(message) {
    const box = $('error');
    box.textContent = message;
    box.hidden = !message;
  }

  /** One place for failures: an ended session returns to sign-in, everything else is said in words. */
  function fail(error, context) {
    if (error instanceof ApiError && error.status === 401 && context !== 'sign-in') {
      endSession();
      showError(plainWords(error, context));
      return;
    }
    showError(plainWords(error, context));
  }

  // ---------- sign-in and sign-out ----------

  function showSignIn() {
    $('sign-in').hidden = false;
    $('dashboard').hidden = true;
    $('sign-out').hidden = true;
    $('who').hidden = true;
    $('live').hidden = true;
    $('org-name').textContent = '';
  }

  function endSession() {
    if (state.stream) state.stream.abort();
    state.stream = null;
    state.token = null;
    state.me = null;
    state.lastEventId = null;
    sessionStorage.removeItem(TOKEN_KEY);
    for (const id of Object.keys(state.charts)) destroyChart(id);
    showSignIn();
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector('button');
    const email = $('email').value.trim();
    const password = $('password').value;
    if (!email || !password) {
      showError('Enter your e-mail address and your password.');
      (email ? $('password') : $('email')).focus();
      return;
    }
    button.disabled = true;
    try {
      const response = await api('/auth/login', { method: 'POST', body: JSON.stringify({ email, password }) });
      const body = await response.json();
      state.token = body.access_token;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      $('password').value = '';
      showError('');
      await start();
    } catch (error) {
      fail(error, 'sign-in');
    } finally {
      button.disabled = false;
    }
  }

  async function signOut() {
    const token = state.token;
    endSession();
    showError('');
    $('sign-in-title').focus();
    if (token) {
      // The server revokes the token; the page has already forgotten it either way.
      fetch(`${API}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
    }
  }

  async function start() {
    try {
      state.me = (await getJson('/auth/me'));
    } catch (error) {
      fail(error, 'me');
      return;
    }
    const { user, organization } = state.me;
    $('sign-in').hidden = true;
    $('sign-out').hidden = false;
    $('who').hidden = false;
    $('who').textContent = `${user.name} (${user.role})`;
    $('org-name').textContent = `— ${organization.name}`;
    $('refresh').hidden = user.role !== 'admin';
    try {
      await loadDashboard();
    } catch (error) {
      $('dashboard').hidden = true;
      fail(error, 'dashboard');
      return;
    }
    $('dashboard').hidden = false;
    renderDashboard();
    $('main').focus({ preventScroll: true });
    await Promise.all([loadActivity(), loadStatistics()]);
    openStream();
  }

  // ---------- loading ----------

  async function loadDashboard(forceRefresh = false) {
    state.dashboard = await getJson(`/metrics/dashboard${forceRefresh ? '?force_refresh=true' : ''}`);
  }

  async function loadActivity() {
    try {
      state.activity = await getJson('/metrics/activity?hours=24&limit=20');
      renderActivity();
    } catch (error) {
      fail(error, 'activity');
    }
  }

  async function loadStatistics() {
    const period = state.period;
    try {
      const [statistics] = await Promise.all([getJson(`/metrics/statistics?period=${period}`), loadInsights(period)]);
      if (period !== state.period) return;
      state.statistics = statistics;
      renderStatistics();
    } catch (error) {
      fail(error, 'statistics');
    }
  }

  async function loadInsights(period) {
    state.insights = null;
    state.insightsProblem = null;
    const insightsPeriod = INSIGHTS_PERIOD[period];
    if (!insightsPeriod) return;
    try {
      const body = await getJson(`/metrics/insights?period=${insightsPeriod}`);
      if (period === state.period) state.insights = body.series || body;
    } catch (error) {
      // The series are still worth showing; the note says why the insights are missing.
      if (error instanceof ApiError && error.status === 401) throw error;
      state.insightsProblem = plainWords(error, 'insights');
    }
  }

  async function refresh(button) {
    button.disabled = true;
    try {
      await api('/metrics/invalidate-cache', { method: 'POST' });
      await loadDashboard();
      renderDashboard();
      await Promise.all([loadActivity(), loadStatistics()]);
      showError('');
      notice(`Figures recomputed at ${timeOf(state.dashboard.cache_metadata ? state.dashboard.cache_metadata.generated_at : state.dashboard.timestamp)} UTC.`);
    } catch (error) {
      fail(error, 'refresh');
    } finally {
      button.disabled = false;
    }
  }

  async function download(format, button) {
    button.disabled = true;
    try {
      const response = await api('/metrics/export', { method: 'POST', body: JSON.stringify({ format, date_range: state.period }) });
      const disposition = response.headers.get('Content-Disposition') || '';
      const match = /filename="([^"]+)"/.exec(disposition);
      const name = match ? match[1] : `metrics-${state.period}.${format}`;
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      notice(`Downloaded ${name}.`);
    } catch (error) {
      fail(error, 'export');
    } finally {
      button.disabled = false;
    }
  }

  function notice(text) {
    $('notice').textContent = text;
  }

  // ---------- tiles ----------

  const WHY = {
    growth_rate: 'No data: no users were created in the 7 days before the last 7, so there is nothing to compare with.',
    user_retention: 'No data: no users were created more than 30 days ago.',
    avg_generation_time: 'No data: no content created in the last 30 days has a recorded generation time.',
    avg_session_duration: 'No data: there were no learning sessions in the last 7 days.',
    api_response_time: 'No data: no requests were measured in the last 5 minutes.',
    cache_hit_rate: 'No data: no metric was looked up in the cache in the last 5 minutes.',
    redis_memory_usage: 'No data: the service runs without Redis (or Redis did not answer).',
    error_rate: 'No data: no requests were measured in the last 5 minutes.',
  };

  const vsYesterday = (series) => (d) => {
    const values = d.trends && d.trends[series];
    return values && values.length >= 2 ? { delta: values[values.length - 1] - values[values.length - 2], text: 'vs yesterday' } : null;
  };
  const today = (series) => (d) => {
    const values = d.trends && d.trends[series];
    return values && values.length ? { delta: values[values.length - 1], text: 'today', added: true } : null;
  };

  const TILES = [
    ['Users', 'user_metrics', [
      ['total_users', 'Users', 'active accounts'],
      ['active_users', 'Active, last 24 h', 'users'],
      ['new_users_today', 'New today', 'users', vsYesterday('new_users')],
      ['growth_rate', 'Growth, 7 days', '%'],
      ['user_retention', 'Retention, 30 days', '%'],
    ]],
    ['Content', 'content_metrics', [
      ['total_content', 'Content', 'items'],
      ['published_content', 'Published', 'items'],
      ['draft_content', 'Drafts', 'items'],
      ['content_created_today', 'Created today', 'items', vsYesterday('content_created')],
      ['avg_generation_time', 'Generation time', 's'],
    ]],
    ['Engagement', 'engagement_metrics', [
      ['daily_active_users', 'Active today', 'users', vsYesterday('daily_active_users')],
      ['avg_session_duration', 'Session length, 7 days', 'min'],
      ['total_lessons_completed', 'Lessons completed', 'all time', today('lessons_completed')],
      ['total_assessments', 'Assessments', 'all time', today('assessments_submitted')],
      ['engagement_score', 'Engagement score', '/ 100', vsYesterday('engagement_score')],
    ]],
    ['System', 'system_metrics', [
      ['api_response_time', 'API response time, p95', 'ms'],
      ['cache_hit_rate', 'Cache hit rate', '%'],
      ['database_connections', 'Database connections', 'open'],
      ['redis_memory_usage', 'Redis memory', 'MB'],
      ['error_rate', 'Error rate', '%'],
    ]],
  ];

  function buildTiles() {
    const root = $('tiles');
    for (const [groupName, group, items] of TILES) {
      const section = document.createElement('section');
      section.className = 'tile-group';
      const heading = document.createElement('h3');
      heading.textContent = groupName;
      const list = document.createElement('ul');
      list.className = 'tile-list';
      list.setAttribute('aria-label', `${groupName} figures`);
      for (const [key, label] of items) {
        const tile = document.createElement('li');
        tile.className = 'tile';
        tile.dataset.metric = `${group}.${key}`;
        tile.innerHTML = '<p class="label"></p><p class="value"></p><p class="change"></p>';
        tile.querySelector('.label').textContent = label;
        list.append(tile);
      }
      section.append(heading, list);
      root.append(section);
    }
  }

  /** A figure, or "—" with the reason in a tooltip and for screen readers; never 0 for null. */
  function fillValue(element, value, unit, why) {
    element.replaceChildren();
    if (value === null || value === undefined) {
      const dash = document.createElement('span');
      dash.className = 'none';
      dash.textContent = '—';
      dash.title = why || 'No data.';
      dash.setAttribute('aria-hidden', 'true');
      const reason = document.createElement('span');
      reason.className = 'sr-only';
      reason.textContent = why || 'No data.';
      element.append(dash, reason);
      return;
    }
    element.append(number.format(value));
    if (unit) {
      const unitElement = document.createElement('span');
      unitElement.className = 'unit';
      unitElement.textContent = unit;
      element.append(unitElement);
    }
  }

  function renderDashboard() {
    const d = state.dashboard;
    if (!d) return;
    if (!$('tiles').childElementCount) buildTiles();
    for (const [, group, items] of TILES) {
      for (const [key, , unit, change] of items) {
        const tile = document.querySelector(`[data-metric="${group}.${key}"]`);
        const value = d[group] ? d[group][key] : null;
        fillValue(tile.querySelector('.value'), value, unit, WHY[key]);
        const changeElement = tile.querySelector('.change');
        const c = change && value !== null && value !== undefined ? change(d) : null;
        changeElement.className = 'change';
        if (!c) {
          changeElement.textContent = '';
          continue;
        }
        const delta = Math.round(c.delta * 100) / 100;
        if (c.added) changeElement.textContent = `+${number.format(delta)} ${c.text}`;
        else if (delta === 0) changeElement.textContent = `No change ${c.text}`;
        else {
          changeElement.textContent = `${delta > 0 ? '+' : '−'}${number.format(Math.abs(delta))} ${c.text}`;
          changeElement.classList.add(delta > 0 ? 'up' : 'down');
        }
      }
    }
    renderCacheState();
    renderTrends();
  }

  function renderCacheState() {
    const d = state.dashboard;
    if (!d) return;
    const meta = d.cache_metadata;
    const generated = meta ? meta.generated_at : d.timestamp;
    const minutes = Math.floor((Date.now() - Date.parse(generated)) / 60000);
    const ago = minutes < 1 ? 'just now' : minutes === 1 ? '1 min ago' : minutes < 120 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ago`;
    const source = meta ? (meta.cache_hit ? 'from cache' : 'freshly computed') : 'live update';
    const element = $('cache-state');
    element.textContent = `Figures computed ${ago}, ${source}.`;
    element.title = `Computed at ${generated}${meta ? `; kept in the cache for up to ${Math.round(meta.cache_ttl / 60)} min, or until new data arrives` : ''}`;
  }

  // ---------- charts ----------

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  const utc = (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

  function axes(yLabel) {
    const grid = { stroke: css('--line'), width: 1 };
    return [
      { stroke: css('--muted'), grid, ticks: grid },
      { stroke: css('--muted'), grid, ticks: grid, label: yLabel, size: 50 },
    ];
  }

  function destroyChart(id) {
    if (state.charts[id]) state.charts[id].destroy();
    delete state.charts[id];
  }

  function drawChart(element, options, data) {
    destroyChart(element.id);
    const width = Math.max(240, element.clientWidth || element.parentElement.clientWidth || 300);
    state.charts[element.id] = new uPlot({ width, height: 200, tzDate: utc, axes: axes(options.yLabel), ...options }, data, element);
  }

  const line = (label, color, extra = {}) => ({ label, stroke: color, width: 2, points: { show: true, size: 5 }, ...extra });
  const daySeconds = (day) => Date.parse(day.length === 10 ? `${day}T00:00:00Z` : day) / 1000;

  function renderTrends() {
    const t = state.dashboard && state.dashboard.trends;
    if (!t || !t.days) return;
    const x = t.days.map(daySeconds);
    const series = [
      ['daily_active_users', 'Active users', '--s1'],
      ['new_users', 'New users', '--s2'],
      ['content_created', 'Content created', '--s3'],
      ['lessons_completed', 'Lessons completed', '--s4'],
      ['assessments_submitted', 'Assessments', '--s5'],
    ];
    drawChart($('trend-counts'), { series: [{ label: 'Day' }, ...series.map(([, label, color]) => line(label, css(color)))], yLabel: 'count' }, [x, ...series.map(([key]) => t[key])]);
    drawChart($('trend-score'), { series: [{ label: 'Day' }, line('Engagement score', css('--s6'))], scales: { y: { range: [0, 100] } }, yLabel: 'score' }, [x, t.engagement_score]);
    $('trend-counts-text').textContent = series.map(([key, label]) => `${label}: ${t[key].join(', ')}`).join('. ') + `, for ${t.days[0]} to ${t.days[t.days.length - 1]}.`;
    $('trend-score-text').textContent = `Engagement score by day: ${t.engagement_score.join(', ')}.`;
  }

  const EVENT_WORDS = { login: 'signed in', session: 'had a learning session', lesson_completed: 'completed', assessment_submitted: 'submitted an assessment on' };

  function timeOf(iso) {
    return new Date(iso).toISOString().slice(11, 16);
  }

  function renderActivity() {
    const a = state.activity;
    if (!a) return;
    $('activity-counts').textContent = `${number.format(a.recent_lessons)} lessons completed, ${number.format(a.recent_assessments)} assessments, ${number.format(a.recent_sessions)} sessions, ${number.format(a.new_users)} new users, ${number.format(a.content_published)} content items published.`;
    const x = a.hourly.map((bucket) => Date.parse(bucket.hour) / 1000);
    const y = a.hourly.map((bucket) => bucket.events);
    drawChart($('hourly'), { series: [{ label: 'Hour' }, { label: 'Events', stroke: css('--s1'), fill: css('--s1'), paths: uPlot.paths.bars({ size: [0.8, 40] }), points: { show: false } }], yLabel: 'events' }, [x, y]);
    $('hourly-text').textContent = `Events per hour from ${timeOf(a.since)} UTC: ${y.join(', ')}.`;

    const feed = $('recent-events');
    feed.replaceChildren();
    for (const event of a.recent_events) {
      const item = document.createElement('li');
      const time = document.createElement('time');
      time.dateTime = event.occurred_at;
      time.textContent = `${event.occurred_at.slice(0, 10)} ${timeOf(event.occurred_at)} UTC`;
      const words = EVENT_WORDS[event.type] || event.type;
      item.append(time, `${event.user.name} ${words}${event.content ? ` “${event.content.title}”` : ''}`);
      feed.append(item);
    }
    if (!a.recent_events.length) feed.append(Object.assign(document.createElement('li'), { textContent: 'No activity in the last 24 hours.' }));

    const body = $('top-content').tBodies[0];
    body.replaceChildren();
    for (const content of a.top_content) {
      const row = body.insertRow();
      row.insertCell().textContent = content.title;
      row.insertCell().textContent = content.content_type;
      const completions = row.insertCell();
      completions.className = 'num';
      completions.textContent = number.format(content.completions);
      const score = row.insertCell();
      score.className = 'num';
      fillValue(score, content.avg_score, '', 'No data: these completions carry no score.');
    }
    if (!a.top_content.length) {
      const cell = body.insertRow().insertCell();
      cell.colSpan = 4;
      cell.textContent = 'No lesson was completed in the last 24 hours.';
    }
  }

  const SERIES = [
    ['daily_active_users', 'Active users', '--s1'],
    ['new_users', 'New users', '--s2'],
    ['content_created', 'Content created', '--s3'],
    ['lessons_completed', 'Lessons completed', '--s4'],
    ['assessments_submitted', 'Assessments submitted', '--s5'],
    ['avg_score', 'Average assessment score', '--s6'],
  ];
  const SUMMARY = [
    ['count', 'Count'], ['sum', 'Sum'], ['min', 'Min'], ['max', 'Max'], ['mean', 'Mean'], ['median', 'Median'],
    ['p95', 'p95'], ['p99', 'p99'], ['std_dev', 'Std. dev.'], ['slope_per_bucket', 'Slope'], ['change_pct', 'Change'],
  ];

  /** The series' points, then the forecast's days after them, with the anomalies as their own point series. */
  function seriesData(points, insight) {
    const x = points.map(([start]) => Date.parse(start) / 1000);
    const values = points.map(([, value]) => value);
    if (!insight) return { data: [x, values], insight: false };
    const forecast = (insight.forecast && insight.forecast.points) || [];
    const index = new Map(x.map((t, i) => [t, i]));
    const anomalies = new Array(x.length).fill(null);
    for (const anomaly of insight.anomalies || []) {
      const i = index.get(daySeconds(anomaly.day));
      if (i !== undefined) anomalies[i] = anomaly.value;
    }
    const predicted = new Array(x.length).fill(null);
    const low = new Array(x.length).fill(null);
    const high = new Array(x.length).fill(null);
    if (forecast.length) {
      // The forecast starts today (a day still in progress, also in the series): it continues the last complete day.
      const first = index.get(daySeconds(forecast[0][0])) ?? x.length;
      if (first > 0 && values[first - 1] !== null) predicted[first - 1] = low[first - 1] = high[first - 1] = values[first - 1];
    }
    for (const [day, value, lo, hi] of forecast) {
      const t = daySeconds(day);
      let i = index.get(t);
      if (i === undefined) {
        i = x.length;
        x.push(t);
        values.push(null);
        anomalies.push(null);
        predicted.push(null);
        low.push(null);
        high.push(null);
      }
      predicted[i] = value;
      low[i] = lo;
      high[i] = hi;
    }
    return { data: [x, values, predicted, low, high, anomalies], insight: true };
  }

  function renderStatistics() {
    const s = state.statistics;
    if (!s) return;
    const root = $('series');
    for (const id of Object.keys(state.charts)) if (id.startsWith('series-')) destroyChart(id);
    root.replaceChildren();
    const daily = s.bucket === 'day';
    $('insights-note').textContent = !daily
      ? 'Anomalies and forecasts are computed on daily series: choose 7, 30 or 90 days to see them.'
      : state.insightsProblem
        ? `Anomalies and forecast are not shown: ${state.insightsProblem}`
        : state.insights
          ? 'Red dots mark anomalous days; the dashed line is the 7-day forecast with its 80 % interval.'
          : '';
    for (const [key, label, color] of SERIES) {
      const series = s.series[key];
      if (!series) continue;
      const block = document.createElement('section');
      block.className = 'series-block';
      const heading = document.createElement('h3');
      heading.id = `series-${key}-title`;
      heading.textContent = label;
      const chart = document.createElement('div');
      chart.className = 'chart';
      chart.id = `series-${key}`;
      chart.setAttribute('role', 'img');
      const text = document.createElement('p');
      text.className = 'sr-only';
      text.id = `series-${key}-text`;
      chart.setAttribute('aria-labelledby', `${heading.id} ${text.id}`);
      const summary = document.createElement('dl');
      summary.className = 'summary';
      for (const [field, name] of SUMMARY) {
        const row = document.createElement('div');
        const term = document.createElement('dt');
        term.textContent = name;
        const value = document.createElement('dd');
        value.dataset.summary = field;
        fillValue(value, series.summary[field], field === 'change_pct' ? '%' : '', field === 'change_pct' ? 'No data: the first half of the period is 0, so there is no change to compute.' : 'No data in this period.');
        row.append(term, value);
        summary.append(row);
      }
      block.append(heading, chart, text, summary);
      const insight = daily && state.insights ? state.insights[key] : null;
      const anomalyList = insight && (insight.anomalies || []).length ? document.createElement('ul') : null;
      if (anomalyList) {
        anomalyList.className = 'anomalies';
        anomalyList.setAttribute('aria-label', `Anomalies in ${label}`);
        for (const a of insight.anomalies) {
          const item = document.createElement('li');
          item.textContent = `${a.day.slice(0, 10)}: ${number.format(a.value)}, ${a.direction === 'down' ? 'below' : 'above'} the expected ${number.format(a.expected)} (score ${number.format(a.score)})`;
          anomalyList.append(item);
        }
        block.append(anomalyList);
      }
      root.append(block);

      const { data, insight: withInsight } = seriesData(series.points, insight);
      const options = { series: [{ label: daily ? 'Day' : 'Hour' }, line(label, css(color))], yLabel: key === 'avg_score' ? 'score' : 'count' };
      if (withInsight) {
        const band = css('--band');
        const forecastColor = css('--forecast');
        options.series.push(
          line('Forecast', forecastColor, { dash: [6, 4], points: { show: false } }),
          { label: '80 % low', stroke: band, width: 1, points: { show: false } },
          { label: '80 % high', stroke: band, width: 1, points: { show: false } },
          { label: 'Anomaly', stroke: css('--anomaly'), paths: () => null, points: { show: true, size: 11, fill: css('--anomaly'), stroke: css('--anomaly') } },
        );
        options.bands = [{ series: [4, 3], fill: band }];
      }
      drawChart(chart, options, data);
      const values = series.points.map(([, v]) => (v === null ? 'no data' : number.format(v)));
      const forecastText = withInsight && insight.forecast && insight.forecast.points && insight.forecast.points.length ? ` Forecast for ${insight.forecast.points.length} days from ${insight.forecast.points[0][0]}: ${insight.forecast.points.map((p) => number.format(p[1])).join(', ')}.` : '';
      text.textContent = `${label} per ${daily ? 'day' : 'hour'}: ${values.join(', ')}.${forecastText}`;
    }
    const p = s.api_performance;
    const ms = (v) => (v === null ? 'no data' : `${number.format(v)} ms`);
    $('api-performance').textContent = `${number.format(p.requests)} requests; p50 ${ms(p.p50_ms)}, p95 ${ms(p.p95_ms)}, p99 ${ms(p.p99_ms)}; error rate ${p.error_rate === null ? 'no data' : `${number.format(p.error_rate)} %`}.`;
  }

  function selectPeriod(period) {
    if (period === state.period) return;
    state.period = period;
    for (const button of document.querySelectorAll('[data-period]')) button.setAttribute('aria-pressed', String(button.dataset.period === period));
    $('export-range').textContent = PERIOD_NAMES[period];
    loadStatistics();
  }

  // ---------- live updates (Server-Sent Events over fetch, which can send the bearer token) ----------

  function setLive(mode, text) {
    const element = $('live');
    element.hidden = false;
    element.dataset.state = mode;
    $('live-text').textContent = text;
  }

  const sleep = (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  /** Reads an event stream: "event:", "data:", "id:", "retry:" fields; a blank line ends an event; ":" lines are comments. */
  async function readEvents(body, onEvent, onRetry) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let event = { type: 'message', data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const raw of lines) {
        if (raw === '') {
          if (event.data.length) onEvent(event.type, event.data.join('\n'));
          event = { type: 'message', data: [] };
          continue;
        }
        if (raw.startsWith(':')) continue;
        const colon = raw.indexOf(':');
        const field = colon === -1 ? raw : raw.slice(0, colon);
        const value = colon === -1 ? '' : raw.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.type = value;
        else if (field === 'data') event.data.push(value);
        else if (field === 'id' && !value.includes('\0')) state.lastEventId = value;
        else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
      }
    }
  }

  const ACTIVITY_WORDS = {
    login: ['sign-in', 'sign-ins'],
    session: ['learning session', 'learning sessions'],
    lesson_completed: ['lesson completed', 'lessons completed'],
    assessment_submitted: ['assessment submitted', 'assessments submitted'],
  };

  function onStreamEvent(type, data) {
    let body;
    try {
      body = JSON.parse(data);
    } catch {
      return;
    }
    if (type === 'init' || type === 'dashboard') {
      state.dashboard = body.dashboard || body;
      renderDashboard();
    } else if (type === 'end') {
      // The server says why it closes: an ended session or a lost role is final, a restart is worth reconnecting to.
      if (body.reason === 'token_expired' || body.reason === 'token_revoked') {
        endSession();
        showError('Your session has ended (it expired or you were signed out). Please sign in again.');
      } else if (body.reason === 'forbidden') {
        if (state.stream) state.stream.abort();
        setLive('down', 'Live updates are not available to your account.');
      }
    } else if (type === 'activity') {
      const counts = body.counts || body.by_type || body;
      const parts = Object.entries(counts)
        .filter(([, n]) => typeof n === 'number' && n > 0)
        .map(([kind, n]) => `${number.format(n)} ${(ACTIVITY_WORDS[kind] || [kind, kind])[n === 1 ? 0 : 1]}`);
      if (parts.length) notice(`New activity: ${parts.join(', ')}.`);
      // Batches may arrive many a second: one refetch of the slower panels after a short pause.
      clearTimeout(state.refetchTimer);
      state.refetchTimer = setTimeout(() => Promise.all([loadActivity(), loadStatistics()]), 2000);
    }
  }

  function openStream() {
    if (state.stream) state.stream.abort();
    const controller = new AbortController();
    state.stream = controller;
    const { signal } = controller;
    let attempt = 0;
    let retryMs = 1000;
    (async () => {
      while (!signal.aborted) {
        setLive('connecting', attempt ? 'Reconnecting…' : 'Connecting…');
        let waitMs = null;
        try {
          const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${state.token}` };
          if (state.lastEventId) headers['Last-Event-ID'] = state.lastEventId;
          const response = await fetch(`${API}/metrics/stream`, { headers, signal, cache: 'no-store' });
          if (!response.ok) {
            const error = await errorOf(response);
            if (error.status === 401) {
              fail(error, 'stream');
              return;
            }
            if (error.status === 403) {
              setLive('down', 'Live updates are not available to your account.');
              return;
            }
            if (error.retryAfter) waitMs = error.retryAfter * 1000;
          } else {
            setLive('live', 'Live');
            attempt = 0;
            await readEvents(response.body, onStreamEvent, (ms) => (retryMs = ms));
          }
        } catch (error) {
          if (signal.aborted) return;
        }
        if (signal.aborted) return;
        // Exponential backoff with jitter, so that many pages do not all return at the same instant.
        const backoff = waitMs ?? Math.min(30000, retryMs * 2 ** attempt) * (0.8 + Math.random() * 0.4);
        attempt += 1;
        setLive('down', `Disconnected — reconnecting in ${Math.max(1, Math.round(backoff / 1000))} s`);
        await sleep(backoff, signal);
      }
    })();
  }

  // ---------- wiring ----------

  function redrawCharts() {
    if (state.dashboard) renderTrends();
    if (state.activity) renderActivity();
    if (state.statistics) renderStatistics();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('refresh').addEventListener('click', (event) => refresh(event.currentTarget));
    for (const button of document.querySelectorAll('[data-export]')) button.addEventListener('click', () => download(button.dataset.export, button));
    for (const button of document.querySelectorAll('[data-period]')) button.addEventListener('click', () => selectPeriod(button.dataset.period));
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(redrawCharts, 200);
    });
    // Chart colours come from the stylesheet: redraw when the system switches between light and dark.
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redrawCharts);
    setInterval(renderCacheState, 30000);
    if (state.token) start();
    else showSignIn();
  });
})();
