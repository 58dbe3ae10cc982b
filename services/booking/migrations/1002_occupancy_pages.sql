-- Occupancy pages hotels by name: an admin's first page walks this index instead of sorting
-- every hotel of the catalog.
CREATE INDEX hotels_on_sale_by_name ON hotels (name, id) WHERE on_sale;
