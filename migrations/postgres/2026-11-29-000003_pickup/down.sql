DROP TABLE pickup_late_alerts;
DROP TABLE handovers;
DROP TABLE pickup_dismissal_modes;
DROP TABLE pickup_passes;
DROP TABLE pickup_blocks;
DROP TABLE pickup_persons;
DROP TABLE pickup_dismissal_times;
DROP TABLE pickup_settings;
