import { ActivityEventEntity } from './activity-event.entity.js';
import { EducationalContentEntity } from './educational-content.entity.js';
import { OrganizationEntity } from './organization.entity.js';
import { UserEntity } from './user.entity.js';

export const ENTITIES = [OrganizationEntity, UserEntity, EducationalContentEntity, ActivityEventEntity];
