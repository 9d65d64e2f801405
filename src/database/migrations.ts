import { InitialSchema1764100000000 } from '../../migrations/1764100000000-initial-schema.js';
import { Rollups1764200000000 } from '../../migrations/1764200000000-rollups.js';
import { LastActiveHours1764200000001 } from '../../migrations/1764200000001-last-active-hours.js';
import { IngestionThroughput1764300000000 } from '../../migrations/1764300000000-ingestion-throughput.js';
import { AccountSecurity1764400000000 } from '../../migrations/1764400000000-account-security.js';
import { Integration1764500000000 } from '../../migrations/1764500000000-integration.js';
import { PartitionedEvents1764600000000 } from '../../migrations/1764600000000-partitioned-events.js';
import { LoginEmails1764600000001 } from '../../migrations/1764600000001-login-emails.js';
import { LoginEmailsOptional1764609999999 } from '../../migrations/1764609999999-login-emails-optional.js';
import { DemoActivity1764950000000 } from '../../migrations/1764950000000-demo-activity.js';
import { OrganizationRollupLock1765000000000 } from '../../migrations/1765000000000-organization-rollup-lock.js';
import { RetentionHorizon1765000000001 } from '../../migrations/1765000000001-retention-horizon.js';
import { EventsTriggerUsersPass1765000000002 } from '../../migrations/1765000000002-events-trigger-users-pass.js';
import { XapiStatementsWithoutRowChecks1765000000003 } from '../../migrations/1765000000003-xapi-statements-without-row-checks.js';
import { ActiveDaysOnUsers1765000000004 } from '../../migrations/1765000000004-active-days-on-users.js';
import { LastActiveMinutes1765000000005 } from '../../migrations/1765000000005-last-active-minutes.js';
import { CompletedContentIndex1765000000006 } from '../../migrations/1765000000006-completed-content-index.js';

/** Every migration, in order; imported explicitly so the same list runs from ts (tests) and from dist. */
export const MIGRATIONS = [
  InitialSchema1764100000000,
  Rollups1764200000000,
  LastActiveHours1764200000001,
  IngestionThroughput1764300000000,
  AccountSecurity1764400000000,
  Integration1764500000000,
  PartitionedEvents1764600000000,
  LoginEmails1764600000001,
  LoginEmailsOptional1764609999999,
  DemoActivity1764950000000,
  OrganizationRollupLock1765000000000,
  RetentionHorizon1765000000001,
  EventsTriggerUsersPass1765000000002,
  XapiStatementsWithoutRowChecks1765000000003,
  ActiveDaysOnUsers1765000000004,
  LastActiveMinutes1765000000005,
  CompletedContentIndex1765000000006,
];
